"""The cgroup path parser over a table of real-world samples."""

import pytest

from ctop_ebpf.probes.containers.cgroups import (
    ContainerRef,
    container_at,
    containerd_candidate,
    parse_cgroup,
    parse_cgroup_path,
    systemd_unescape,
)
from tests.data.cgroup_samples import PATHS, SAMPLES, D, K


@pytest.mark.parametrize("desc,text,cid,runtime", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_parse_cgroup_samples(desc, text, cid, runtime):
    ref = parse_cgroup(text)
    expected = None if cid is None else ContainerRef(cid, runtime)
    assert ref == expected, desc


@pytest.mark.parametrize("path,cid,runtime", PATHS, ids=[p[0] or "<empty>" for p in PATHS])
def test_parse_cgroup_path(path, cid, runtime):
    expected = None if cid is None else ContainerRef(cid, runtime)
    assert parse_cgroup_path(path) == expected


def test_v2_line_preferred_over_v1():
    other = "e" * 64
    text = f"4:memory:/docker/{other}\n0::/docker/{D}\n"
    assert parse_cgroup(text) == ContainerRef(D, "docker")


def test_deepest_v1_line_wins_without_v2():
    inner = "e" * 64
    text = f"4:memory:/docker/{D}\n3:pids:/docker/{D}/docker/{inner}\n"
    assert parse_cgroup(text) == ContainerRef(inner, "docker")


@pytest.mark.parametrize("bad", [None, 42, b"0::/docker/x", "\x00" * 100, ":" * 1000,
                                 "0::/" + "/".join(["a"] * 5000)])
def test_never_raises(bad):
    assert parse_cgroup(bad) is None
    assert parse_cgroup_path(bad) is None
    assert container_at(bad) is None


def test_container_at_only_looks_at_the_leaf():
    assert container_at(f"/docker/{D}") == ContainerRef(D, "docker")
    assert container_at(f"/system.slice/docker-{D}.scope/init.scope") is None
    assert container_at(f"/machine.slice/libpod-conmon-{'a' * 64}.scope") is None


def test_short_id_and_unescape():
    assert ContainerRef(D, "docker").short_id == D[:12]
    assert ContainerRef("web01", "lxc").short_id == "web01"
    assert systemd_unescape(r"foo\x2dbar\x5cbaz") == "foo-bar\\baz"


def test_ref_is_frozen_and_hashable():
    ref = ContainerRef(D, "docker")
    with pytest.raises(AttributeError):
        ref.id = "x"  # type: ignore[misc]
    assert {ref: 1}[ContainerRef(D, "docker")] == 1


@pytest.mark.parametrize("path,expected", [
    ("/default/ctop-plain", ("default", "ctop-plain")),
    (f"/ctop-test/{K}", ("ctop-test", K)),
    (f"/k8s.io/{K}", ("k8s.io", K)),
    ("/default/ctop-plain (deleted)", ("default", "ctop-plain")),
    # host cgroups that look alike are never candidates
    ("/system.slice/ssh.service", None),
    ("/user.slice/user-0.slice", None),
    ("/init.scope", None),
    ("/", None),
    (f"/docker/{K}", None),
    ("/lxc/web01", None),
    ("/kubepods/besteffort", None),
    ("/a/b/c", None),
    ("/default/bad id", None),
    ("/default/-dash", None),
    ("/default/" + "x" * 77, None),
    (None, None),
])
def test_containerd_candidates(path, expected):
    assert containerd_candidate(path) == expected
