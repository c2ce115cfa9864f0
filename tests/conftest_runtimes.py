"""Pytest fixtures for the container runtimes besides Docker (plugin module):
a containerd with the CRI plugin (tests/cri_env.py) and podman
(tests/podman_env.py), each private to the test session and removed after.
Not root or a tool missing: the tests are skipped (failures under CI=true).
"""

from __future__ import annotations

import pytest

from tests import cri_env, podman_env


@pytest.fixture(scope="session")
def cri_runtime():
    """A started containerd with CRI and the test images; every pod removed after."""
    try:
        rt = cri_env.start_runtime()
    except cri_env.CriUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield rt
    finally:
        rt.cleanup()


@pytest.fixture
def cri(cri_runtime):
    """The session's containerd, answering (restarted if a test stopped it), with the
    pods a test made removed at its end."""
    if cri_runtime.proc is None:
        cri_runtime.start()
    before = list(cri_runtime.pods)
    yield cri_runtime
    if cri_runtime.proc is None:
        cri_runtime.start()
    for pod in [p for p in cri_runtime.pods if p not in before]:
        try:
            cri_runtime.remove_pod(pod)
        except Exception:  # noqa: BLE001 - the session clean-up kills what is left
            pass


@pytest.fixture(scope="session")
def podman_service():
    try:
        svc = podman_env.start_podman()
    except podman_env.PodmanUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield svc
    finally:
        svc.cleanup()
