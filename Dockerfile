# Build: a release binary of xiezuo, and GraphiQL's packages (pinned in graphiql/package-lock.json)
# so that the IDE at /graphql needs no internet access. Run: a slim image with both.
FROM node:20-bookworm-slim AS graphiql
WORKDIR /src
COPY graphiql/package.json graphiql/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p xiezuo

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/xiezuo --create-home xiezuo
COPY --from=build /src/target/release/xiezuo /usr/local/bin/xiezuo
COPY --from=graphiql /src/node_modules/react /usr/local/share/xiezuo/graphiql/react
COPY --from=graphiql /src/node_modules/react-dom /usr/local/share/xiezuo/graphiql/react-dom
COPY --from=graphiql /src/node_modules/graphiql /usr/local/share/xiezuo/graphiql/graphiql
USER xiezuo
WORKDIR /var/lib/xiezuo
ENV XIEZUO_BIND=0.0.0.0:8080 \
    XIEZUO_DATA_DIR=/var/lib/xiezuo/data \
    XIEZUO_GRAPHIQL_ASSETS_DIR=/usr/local/share/xiezuo/graphiql \
    XIEZUO_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["xiezuo"]
CMD ["serve"]
