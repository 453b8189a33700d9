"""Uses the Python client that openapi-python-client generated from the served OpenAPI document
against the running service: every module imports, a token is issued, organizations and pairings
are listed and a project is created and read back, all through the generated code.

Usage: python client_check.py CLIENT_DIR BASE_URL ADMIN_PASSWORD
"""

import importlib
import pkgutil
import sys
import uuid

client_dir, base, password = sys.argv[1:4]
sys.path.insert(0, client_dir)

import xiezuo_client  # noqa: E402

broken = []
modules = 0
for info in pkgutil.walk_packages(xiezuo_client.__path__, "xiezuo_client."):
    modules += 1
    try:
        importlib.import_module(info.name)
    except Exception as err:  # noqa: BLE001 - report every module that fails
        broken.append(f"{info.name}: {err!r}")
assert not broken, "modules that do not import:\n" + "\n".join(broken)
print(f"{modules} generated modules import")

from xiezuo_client import AuthenticatedClient, Client  # noqa: E402
from xiezuo_client.api.auth import auth_token  # noqa: E402
from xiezuo_client.api.organizations import list_organizations  # noqa: E402
from xiezuo_client.api.pairings import list_pairings  # noqa: E402
from xiezuo_client.api.projects import create_project, get_project  # noqa: E402
from xiezuo_client.models import (  # noqa: E402
    NewProject,
    ProjectCategory,
    ProjectItem,
    ProjectView,
    TokenRequest,
    TokenResponse,
)

token = auth_token.sync(
    client=Client(base_url=base),
    body=TokenRequest(grant_type="password", username="admin", password=password),
)
assert isinstance(token, TokenResponse), token
api = AuthenticatedClient(base_url=base, token=token.access_token)

orgs = list_organizations.sync(client=api, division_code="520300")
assert orgs is not None and len(orgs.items) == 1, orgs
zunyi = orgs.items[0]
print(f"organization {zunyi.code} {zunyi.name}")
pairings = list_pairings.sync(client=api, west_org_id=zunyi.id)
assert pairings is not None and pairings.items, pairings
pairing = pairings.items[0]

code = f"CLIENT-{uuid.uuid4().hex[:8]}"
created = create_project.sync(
    client=api,
    body=NewProject(
        code=code,
        year=2019,
        title="遵义市残疾人康复托养中心设备（生成的客户端）",
        category=ProjectCategory.CARE_FACILITY,
        pairing_id=pairing.id,
        basis="托养中心缺少康复设备",
        measures="上海残联资助采购，遵义残联实施",
        beneficiaries_planned=120,
        budget_fen=3_000_000_000,
        items=[ProjectItem(name="康复训练设备", unit="套", quantity=2, unit_cost_fen=1_500_000_000)],
    ),
)
assert isinstance(created, ProjectView), created
assert created.status.value == "proposed" and created.budget_fen == 3_000_000_000, created
again = get_project.sync(client=api, id=created.id)
assert isinstance(again, ProjectView) and again.code == code, again
print(f"project {again.code} created and read back through the generated client")
