"""Pytest fixtures for tests that need a real Docker daemon (plugin module).

Loaded by tests/conftest.py with ``pytest_plugins = ["tests.conftest_docker"]``.
Not root, no docker CLI or no dockerd: the tests are skipped (and the main
conftest turns skips into failures under CI=true).
"""

from __future__ import annotations

import itertools
import os

import pytest

from tests import docker_env
from tests.docker_env import Daemon, DockerUnavailable

_counter = itertools.count()


@pytest.fixture(scope="session")
def dockerd():
    """The system Docker daemon, started for the session when none runs, with the test image."""
    try:
        daemon, started = docker_env.system_daemon()
        daemon.ensure_image()
    except DockerUnavailable as exc:
        pytest.skip(str(exc))
    yield daemon
    if started:
        daemon.stop()


@pytest.fixture
def containers(dockerd: Daemon):
    """Factory: ``containers(tag, *cmd, network="none", args=())`` -> (name, id).

    Names are unique per test session (several sessions may share the daemon);
    every container made is removed at the end of the test.
    """
    made: list[str] = []

    def make(tag: str, *cmd: str, network: str = "none", args=()) -> tuple[str, str]:
        name = f"ctop-test-{tag}-{os.getpid()}-{next(_counter)}"
        made.append(name)
        return name, dockerd.run_container(name, *cmd, network=network, args=args)

    yield make
    for name in made:
        dockerd.remove_container(name)


@pytest.fixture
def private_dockerd():
    """A dockerd of the test's own (own socket and roots) that it may stop and start."""
    try:
        daemon = docker_env.private_daemon()
    except DockerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield daemon
    finally:
        docker_env.cleanup_private(daemon)
