use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{ADMIN_PASSWORD, JWT_SECRET, TestApp, assert_problem, parts, spawn_app};
use uuid::Uuid;
use xiezuo::domain::Role;

async fn create_user(app: &TestApp, username: &str, role: &str, org: Option<&str>) -> Value {
    let org_id = match org {
        Some(code) => Value::String(app.org_id(code).await.to_string()),
        None => Value::Null,
    };
    let (status, body) = parts(
        app.post_json(
            "/api/v1/users",
            &app.admin_token(),
            &json!({"username": username, "password": "a-long-password-1", "role": role, "org_id": org_id}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn claims(exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": "xiezuo", "aud": "xiezuo-api", "sub": Uuid::now_v7(), "exp": now + exp_offset,
           "iat": now, "jti": Uuid::now_v7(), "typ": "user", "role": "admin"})
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()).expect("key"),
    )
    .expect("sign")
}

#[tokio::test]
async fn password_grant_works_as_form_and_json_and_the_token_is_usable() {
    let app = spawn_app().await;
    // The first admin exists with the configured password.
    let form = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(form.headers()["cache-control"], "no-store");
    let (status, body) = parts(form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().expect("token").to_string();

    let (status, me) = parts(app.get("/api/v1/me", &token).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["org_id"], app.org_id("520000").await.to_string());

    let (status, _) = parts(app.login("admin", ADMIN_PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_user_and_wrong_password_answer_identically() {
    let app = spawn_app().await;
    let (s1, b1) = parts(app.login("admin", "not-the-password").await).await;
    let (s2, b2) = parts(app.login("nobody-here", "not-the-password").await).await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(b1["code"], "invalid_credentials");

    // A disabled account answers the same way.
    let user = create_user(&app, "disabled.one", "auditor", None).await;
    let id = user["id"].as_str().expect("id");
    let (status, _) = parts(
        app.patch_json(
            &format!("/api/v1/users/{id}"),
            &app.admin_token(),
            None,
            &json!({"disabled": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (s3, b3) = parts(app.login("disabled.one", "a-long-password-1").await).await;
    assert_eq!((s3, &b3), (s2, &b2));
}

#[tokio::test]
async fn token_requests_with_missing_or_unknown_parts_are_refused() {
    let app = spawn_app().await;
    let post = |body: Value| {
        app.client
            .post(app.url("/api/v1/auth/token"))
            .json(&body)
            .send()
    };
    assert_problem(
        post(json!({"grant_type": "implicit"}))
            .await
            .expect("request"),
        400,
        "unsupported_grant_type",
    )
    .await;
    let body = assert_problem(
        post(json!({"grant_type": "password", "username": "admin"}))
            .await
            .expect("request"),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "password");
    let plain = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("content-type", "text/plain")
        .body("grant_type=password")
        .send()
        .await
        .expect("request");
    assert_problem(plain, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn every_bad_token_is_a_401_never_anonymous() {
    let app = spawn_app().await;
    let path = "/api/v1/organizations";
    let none = app.client.get(app.url(path)).send().await.expect("request");
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_problem(none, 401, "unauthenticated").await;

    let header_only = |value: &str| {
        app.client
            .get(app.url(path))
            .header("authorization", value.to_string())
            .send()
    };
    for value in [
        "Bearer",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer not.a.jwt",
        "Bearer  ",
    ] {
        let response = header_only(value).await.expect("request");
        assert_problem(response, 401, "invalid_token").await;
    }

    // alg "none": a token that claims admin without any signature.
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(600).to_string())
    );
    let forged_wrong_key = sign(&claims(600), "some-other-secret-some-other-secret-123");
    let expired = sign(&claims(-3600), JWT_SECRET);
    let mut wrong_aud = claims(600);
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = claims(600);
    wrong_iss["iss"] = json!("evil");
    let mut no_exp = claims(600);
    no_exp.as_object_mut().expect("object").remove("exp");
    for (what, token) in [
        ("alg none", unsigned),
        ("wrong key", forged_wrong_key),
        ("expired", expired),
        ("wrong audience", sign(&wrong_aud, JWT_SECRET)),
        ("wrong issuer", sign(&wrong_iss, JWT_SECRET)),
        ("no exp", sign(&no_exp, JWT_SECRET)),
    ] {
        let response = app.get(path, &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_problem(response, 401, "invalid_token").await;
    }
    // Signed right but for an account that does not exist: refused too.
    let nobody = sign(&claims(600), JWT_SECRET);
    assert_problem(app.get(path, &nobody).await, 401, "invalid_token").await;
    // And the same token for an existing account is accepted: the checks above are not blanket
    // refusals.
    let mut good = claims(600);
    good["sub"] = json!(app.fixture_user(Role::Admin, None).expect("fixture admin"));
    good["cred"] = json!(xiezuo::auth::credential_stamp(tests::FIXTURE_PASSWORD_HASH));
    let good = sign(&good, JWT_SECRET);
    assert_eq!(app.get(path, &good).await.status(), StatusCode::OK);

    // GraphQL is guarded the same way.
    let gql = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": "{ organizations { edges { cursor } } }"}))
        .send()
        .await
        .expect("request");
    assert_problem(gql, 401, "unauthenticated").await;
}

#[tokio::test]
async fn only_admins_manage_accounts() {
    let app = spawn_app().await;
    for (role, org) in [
        (Role::Coordinator, Some("520000")),
        (Role::Editor, Some("520300")),
        (Role::Partner, Some("310000")),
        (Role::Auditor, None),
    ] {
        let token = app.token(role, org);
        let body = json!({"username": "sneaky", "password": "a-long-password-1", "role": "admin"});
        assert_problem(
            app.post_json("/api/v1/users", &token, &body).await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(app.get("/api/v1/users", &token).await, 403, "forbidden").await;
        let sa = json!({"name": "x", "role": "auditor"});
        assert_problem(
            app.post_json("/api/v1/service-accounts", &token, &sa).await,
            403,
            "forbidden",
        )
        .await;
    }
    // Role and organization must fit together.
    let admin = app.admin_token();
    let editor_in_east = json!({"username": "ed.east", "password": "a-long-password-1", "role": "editor",
                                "org_id": app.org_id("310000").await});
    let body = assert_problem(
        app.post_json("/api/v1/users", &admin, &editor_in_east)
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "org_id");
    let short = json!({"username": "shorty", "password": "short", "role": "auditor"});
    let body = assert_problem(
        app.post_json("/api/v1/users", &admin, &short).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "password");
    create_user(&app, "dup.user", "auditor", None).await;
    let dup = json!({"username": "dup.user", "password": "a-long-password-1", "role": "auditor"});
    let body = assert_problem(
        app.post_json("/api/v1/users", &admin, &dup).await,
        409,
        "duplicate",
    )
    .await;
    assert_eq!(body["field"], "username");
}

#[tokio::test]
async fn a_created_user_logs_in_with_their_role_and_org() {
    let app = spawn_app().await;
    let user = create_user(&app, "zunyi.editor", "editor", Some("520300")).await;
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let (status, body) = parts(app.login("zunyi.editor", "a-long-password-1").await).await;
    assert_eq!(status, StatusCode::OK);
    let token = body["access_token"].as_str().expect("token");
    let (_, me) = parts(app.get("/api/v1/me", token).await).await;
    assert_eq!(me["role"], "editor");
    assert_eq!(me["org_id"], app.org_id("520300").await.to_string());
    assert_eq!(me["id"], user["id"]);
}

#[tokio::test]
async fn service_accounts_use_client_credentials_and_their_secret_is_shown_once() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    let (status, created) = parts(
        app.post_json(
            "/api/v1/service-accounts",
            &admin,
            &json!({"name": "上海残联数据同步", "role": "partner", "org_id": app.org_id("310000").await}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let client_id = created["client_id"]
        .as_str()
        .expect("client_id")
        .to_string();
    let secret = created["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_string();
    assert!(secret.len() >= 40);

    // Never shown again, and stored only as an argon2id hash.
    let id = created["id"].as_str().expect("id");
    let (_, fetched) = parts(
        app.get(&format!("/api/v1/service-accounts/{id}"), &admin)
            .await,
    )
    .await;
    assert!(fetched.get("client_secret").is_none());
    let (_, listed) = parts(app.get("/api/v1/service-accounts", &admin).await).await;
    assert!(!listed.to_string().contains(&secret));
    use sea_orm::EntityTrait;
    let stored = entity::service_account::Entity::find_by_id(Uuid::parse_str(id).expect("uuid"))
        .one(&app.ctx.db)
        .await
        .expect("query")
        .expect("row");
    assert!(stored.secret_hash.starts_with("$argon2id$"));
    assert!(!stored.secret_hash.contains(&secret));

    let grant = |secret: String| {
        app.client
            .post(app.url("/api/v1/auth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .send()
    };
    let (status, token) = parts(grant(secret.clone()).await.expect("request")).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let (_, me) = parts(
        app.get("/api/v1/me", token["access_token"].as_str().expect("token"))
            .await,
    )
    .await;
    assert_eq!(me["kind"], "service_account");
    assert_eq!(me["role"], "partner");
    let (status, wrong) = parts(grant(format!("{secret}x")).await.expect("request")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong["code"], "invalid_credentials");

    // HTTP Basic client authentication (RFC 6749 §2.3.1), as OAuth2 libraries send it.
    let basic = |id: &str, secret: &str| {
        use base64::{Engine, engine::general_purpose::STANDARD};
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    };
    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("Authorization", basic(&client_id, &secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    let (status, token) = parts(response).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert!(token["access_token"].is_string());
    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("Authorization", basic(&client_id, "wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    assert_problem(response, 401, "invalid_credentials").await;
    // Both ways at once is refused.
    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("Authorization", basic(&client_id, &secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .expect("request");
    assert_problem(response, 400, "invalid_request").await;

    // A service account cannot be an admin.
    let body = assert_problem(
        app.post_json(
            "/api/v1/service-accounts",
            &admin,
            &json!({"name": "root", "role": "admin"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "role");

    // Deleted: no more tokens.
    assert_eq!(
        app.delete(&format!("/api/v1/service-accounts/{id}"), &admin, None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        grant(secret).await.expect("request").status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_audit_log_is_for_admin_coordinator_and_auditor() {
    let app = spawn_app().await;
    create_user(&app, "audited.user", "auditor", None).await;
    for (role, org, allowed) in [
        (Role::Admin, Some("520000"), true),
        (Role::Coordinator, Some("520000"), true),
        (Role::Auditor, None, true),
        (Role::Editor, Some("520300"), false),
        (Role::Partner, Some("310000"), false),
    ] {
        let response = app
            .get("/api/v1/audit-log?record_type=user", &app.token(role, org))
            .await;
        if allowed {
            let (status, body) = parts(response).await;
            assert_eq!(status, StatusCode::OK, "{role:?}");
            let entry = &body["items"][0];
            assert_eq!(entry["action"], "create");
            assert_eq!(entry["after"]["username"], "audited.user");
            // The hash is not part of the audited view.
            assert!(!entry.to_string().contains("argon2"));
        } else {
            assert_problem(response, 403, "forbidden").await;
        }
    }
}

/// Passwords are 12 to 256 characters: one more either way is refused, naming the field.
#[tokio::test]
async fn passwords_have_bounds() {
    let app = spawn_app().await;
    let admin = app.admin_token();
    for (name, password, status) in [
        ("len.11", "p".repeat(11), StatusCode::UNPROCESSABLE_ENTITY),
        ("len.12", "p".repeat(12), StatusCode::CREATED),
        ("len.256", "p".repeat(256), StatusCode::CREATED),
        ("len.257", "p".repeat(257), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (got, body) = parts(
            app.post_json(
                "/api/v1/users",
                &admin,
                &json!({"username": name, "password": password, "role": "auditor"}),
            )
            .await,
        )
        .await;
        assert_eq!(got, status, "{name}: {body}");
        if status != StatusCode::CREATED {
            assert_eq!(body["errors"][0]["field"], "password", "{body}");
        }
    }
    // The longest password that can be set signs in, in any script (256 characters of three
    // UTF-8 bytes each), and one character more is refused at the token endpoint too.
    let longest = "密".repeat(256);
    let (got, body) = parts(
        app.post_json(
            "/api/v1/users",
            &admin,
            &json!({"username": "len.cjk", "password": longest, "role": "auditor"}),
        )
        .await,
    )
    .await;
    assert_eq!(got, StatusCode::CREATED, "{body}");
    let response = app.login("len.cjk", &longest).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.login("len.cjk", &"密".repeat(257)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
