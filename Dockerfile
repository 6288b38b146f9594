# syntax=docker/dockerfile:1
# Build: docker build -t authd .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p authd

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home /var/lib/authd --create-home authd \
 && mkdir -p /var/lib/authd/data \
 && chown 10001:10001 /var/lib/authd/data
COPY --from=build /src/target/release/authd /usr/local/bin/authd
# Numeric, so that a runtime that checks for a non-root user can tell.
USER 10001:10001
WORKDIR /var/lib/authd
ENV AUTHD__SERVER__BIND=0.0.0.0:8080 \
    AUTHD__DATA__DIR=/var/lib/authd/data \
    AUTHD__MAIL__FILE=/var/lib/authd/data/mailbox.jsonl
EXPOSE 8080
# Liveness, not readiness: a database outage makes every instance unready
# at once, and restarting them all would not bring the database back.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["sh", "-c", "curl -fsS http://127.0.0.1:8080/health/live || exit 1"]
ENTRYPOINT ["authd"]
CMD ["serve"]
