# Build: docker build -t fairshare .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY benches benches
COPY examples examples
RUN cargo build --release --locked --bin fairshare

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data fairshare \
    && mkdir -p /data && chown fairshare /data
COPY --from=build /src/target/release/fairshare /usr/local/bin/fairshare
USER fairshare
WORKDIR /data
ENV FAIRSHARE_LISTEN=0.0.0.0:8080 FAIRSHARE_DATA_DIR=/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["fairshare"]
CMD ["serve"]
