# One fleet shard per container: `shelly-emu fleet FILE` (docs/kubernetes.md).
# The devices bind the addresses the fleet file names, so the container needs those addresses
# on an interface: host networking, or macvlan with the addresses added (see the doc).
FROM python:3.12-slim

WORKDIR /app
# Only what the package needs: pyproject (with its readme), the code and the model profiles.
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY fake_cloud ./fake_cloud
COPY profiles ./profiles
RUN pip install --no-cache-dir . && pip install --no-cache-dir --no-deps amqtt==0.12.1 \
    && rm -rf /root/.cache

# Settings persist here (state_dir in the fleet file, or --state-dir).
VOLUME ["/state"]
# Every device: HTTP 80 and CoIoT 5683/udp on its own address; the control API on 8080.
EXPOSE 80 5683/udp 8080

# The fleet stops cleanly on SIGTERM (sockets closed, state saved), as on Ctrl-C.
STOPSIGNAL SIGTERM
ENTRYPOINT ["shelly-emu", "fleet", "--control", "0.0.0.0:8080", "--state-dir", "/state"]
CMD ["/fleet/fleet.yaml"]
