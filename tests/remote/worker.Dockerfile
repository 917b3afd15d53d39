# A GPU-worker stand-in for the remote tests: systemd as PID 1, sshd, the system Python.
# Run without privileges: --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:ro
#   --stop-signal SIGRTMIN+3, command /lib/systemd/systemd.
ARG BASE=dc-overview/debian-base:bookworm
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive container=docker
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates \
 && update-ca-certificates \
 && apt-get install -y -qq --no-install-recommends \
      systemd systemd-sysv openssh-server python3 iproute2 procps sudo \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/ssh/ssh_host_*
# Every container makes its own host keys at boot (a shared image must not share them).
COPY worker-hostkeys.service /etc/systemd/system/worker-hostkeys.service
COPY worker-sshd.conf /etc/ssh/sshd_config.d/worker.conf
RUN systemctl enable worker-hostkeys.service ssh.service \
 && systemctl mask getty@.service console-getty.service systemd-logind.service \
      systemd-udevd.service systemd-udev-trigger.service systemd-modules-load.service \
      sys-kernel-debug.mount sys-kernel-tracing.mount systemd-remount-fs.service \
 && mkdir -p /root/.ssh && chmod 700 /root/.ssh
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
