# hookmcp in a container: built on Debian 12, run on debian:12-slim as a non-root user.
#
#   docker build -t hookmcp .
#   docker run -d --name hookmcp -p 8787:8787 -v hookmcp-data:/data \
#     -v "$PWD/hookmcp.json:/etc/hookmcp/config.json:ro" -e HOOKMCP_CONFIG=/etc/hookmcp/config.json \
#     --env-file hookmcp.env hookmcp
#
# The server listens on 0.0.0.0:8787 inside the container, which is not loopback: it starts only
# with a config whose every source has a secret and with mcp.tokens set (README, Install), and
# otherwise exits with a message naming what is missing. Secrets come from the environment
# (--env-file, referenced in the config as env:NAME), the database lives in the /data volume.

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      libboost1.81-dev nlohmann-json3-dev libssl-dev libsqlite3-dev libspdlog-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DHOOKMCP_BUILD_TESTS=OFF -DHOOKMCP_BUILD_BENCH=OFF \
 && cmake --build /build \
 && DESTDIR=/staging cmake --install /build --prefix /usr --strip

FROM debian:12-slim
# The libraries the binary links (ldd build/hookmcp) and the CA certificates that `hookmcp send`
# and outbound deliveries verify https:// receivers with.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libsqlite3-0 libpq5 libspdlog1.10 libfmt9 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid, so that a host directory mounted on /data can be given to it (chown 10001:10001).
RUN groupadd --system --gid 10001 hookmcp \
 && useradd --system --uid 10001 --gid hookmcp --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin hookmcp \
 && install -d -o hookmcp -g hookmcp -m 0700 /data
COPY --from=build /staging/usr/bin/hookmcp /usr/bin/hookmcp
COPY --from=build /staging/usr/share/doc/hookmcp /usr/share/doc/hookmcp

USER 10001:10001
ENV HOOKMCP_DB=/data/events.db \
    HOOKMCP_LISTEN=0.0.0.0:8787
VOLUME /data
EXPOSE 8787
# GET /healthz over bash's /dev/tcp (the slim image has no curl): 200 while the store can
# commit. With hookmcp's own TLS on the listener, run with --no-healthcheck or a check of your own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${HOOKMCP_LISTEN##*:} && printf 'GET /healthz HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 5 status <&3 && [[ $status == 'HTTP/1.1 200 '* ]]"]
ENTRYPOINT ["hookmcp"]
CMD ["serve"]
