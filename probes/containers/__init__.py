"""Containers on this host: which cgroup is which container, and what the
runtimes say of them.

cgroups.py    cgroup path -> (container id, runtime), every known shape
directory.py  ContainerDirectory: pid / cgroup id -> container, snapshot per tick
docker.py     Docker's names, images, labels, states (followed in a thread)
"""
