# Build: a release binary of xiezuo. Run: a slim image with that binary alone.
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
USER xiezuo
WORKDIR /var/lib/xiezuo
ENV XIEZUO_BIND=0.0.0.0:8080 \
    XIEZUO_DATA_DIR=/var/lib/xiezuo/data \
    XIEZUO_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["xiezuo"]
CMD ["serve"]
