# Build: docker build -t fairshare .
# tests/api/deploy.rs checks this file without a container engine: the build stage's files
# compile alone, and everything named here is read by what it is set for.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# Cargo.toml names the benches: cargo reads their files to load the manifest, though the
# binary does not build them.
COPY benches benches
COPY migrations migrations
# The demo and the default policies are compiled in (include_str!).
COPY policies policies
COPY src src
RUN cargo build --release --locked --bin fairshare

# The binary speaks neither TLS nor anything but PostgreSQL and HTTP: no CA bundle needed.
# curl serves the health check.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data fairshare \
    && mkdir -p /data && chown fairshare /data
COPY --from=build /src/target/release/fairshare /usr/local/bin/fairshare
USER fairshare
WORKDIR /data
# MIMALLOC_PURGE_DELAY=0: the allocator returns freed pages at once (server peak 125 instead
# of 183 MiB under the ingest bench, same throughput; docs/BENCHMARKS.md, "Ingest"; measured
# before the build turned mimalloc's huge pages off, which alone brought the peak to 109 MiB).
ENV FAIRSHARE_LISTEN=0.0.0.0:8080 FAIRSHARE_DATA_DIR=/data MIMALLOC_PURGE_DELAY=0
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["fairshare"]
CMD ["serve"]
