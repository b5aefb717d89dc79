# Build stage: compile the release binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p gerak-server \
    && cp target/release/gerak /gerak

# Runtime stage: the binary and nothing else it does not need.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/gerak gerak \
    && mkdir -p /var/lib/gerak && chown gerak /var/lib/gerak \
    && printf '#!/bin/sh\nexec curl -fsS http://127.0.0.1:8080/readyz >/dev/null\n' > /usr/local/bin/gerak-healthcheck \
    && chmod +x /usr/local/bin/gerak-healthcheck
COPY --from=build /gerak /usr/local/bin/gerak
USER gerak
WORKDIR /var/lib/gerak
ENV GERAK_DATA_DIR=/var/lib/gerak GERAK_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["gerak"]
CMD ["serve"]
