"""Key paths: parse, check against the schema and the file's groups, set."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtsim.catalog import Catalog
from virtsim.errors import InputError
from virtsim.keypath import parse_assignment, parse_key_path, parse_value, set_value
from virtsim.scenario import parse_scenario

BASE: dict[str, Any] = {
    "name": "base", "duration_s": 10,
    "hosts": [{"name": "node", "profile": "m5d-metal",
               "containers": [{"name": "web", "image": "alpine", "count": 2}],
               "vms": [{"name": "k8s", "hypervisor": "kvm", "disk_image": "ubuntu-24.04-cloud",
                        "containers": [{"name": "api", "image": "alpine"}]}]}],
}


def test_paths_by_name_and_position_set_the_same_value(catalog: Catalog) -> None:
    by_name = set_value(BASE, parse_key_path("hosts.node.containers.web.count"), 7)
    by_index = set_value(BASE, parse_key_path("hosts[0].containers.0.count"), 7)
    assert by_name == by_index
    assert by_name["hosts"][0]["containers"][0]["count"] == 7
    assert BASE["hosts"][0]["containers"][0]["count"] == 2  # the input is not touched
    assert parse_scenario(by_name, catalog).hosts[0].containers[0].count == 7


def test_nested_group_default_key_and_created_tables(catalog: Catalog) -> None:
    data = set_value(BASE, parse_key_path("hosts.node.vms.k8s.containers.api.runtime"), "crun")
    data = set_value(data, parse_key_path("hosts.node.overrides.memory_gib"), 64)
    data = set_value(data, parse_key_path("random_faults.rate_scale"), 10.0)
    scenario = parse_scenario(data, catalog)
    assert scenario.hosts[0].vms[0].containers[0].runtime == "crun"
    assert scenario.hosts[0].overrides == {"memory_gib": 64}
    assert scenario.random_faults is not None and scenario.random_faults.rate_scale == 10.0


@pytest.mark.parametrize(("path", "named"), [
    ("hosts.nod.count", "one of node"),
    ("hosts.node.containerz.web.count", "a key of a host group"),
    ("hosts.node.containers.web.count.x", "nothing below this key"),
    ("hosts.node.overrides.memory_gb", "a host profile field"),
    ("faults.0.at_s", "an existing entry"),
    ("hosts.node.containers.db.count", "one of web"),
    ("durationz", "a key of a scenario"),
])
def test_bad_paths_name_the_key_and_what_is_there(path: str, named: str) -> None:
    with pytest.raises(InputError) as caught:
        set_value(BASE, parse_key_path(path), 1)
    message = str(caught.value)
    assert path in message and named in message and "\n" not in message


@pytest.mark.parametrize("text", ["", "a..b", ".a", "a.", "a[x]", "a[1"])
def test_malformed_paths_fail(text: str) -> None:
    with pytest.raises(InputError):
        parse_key_path(text)


def test_assignment_values_are_toml_or_plain_strings() -> None:
    assert parse_assignment("duration_s=30")[1] == 30
    assert parse_assignment("hosts.node.containers.web.runtime=crun")[1] == "crun"
    assert parse_assignment('x="a b"')[1] == "a b"
    assert parse_assignment("x=[1, 2]")[1] == [1, 2]
    assert parse_assignment("x=true")[1] is True
    with pytest.raises(InputError):
        parse_assignment("no-equals-sign")


@given(st.one_of(st.integers(-10**9, 10**9), st.booleans(),
                 st.floats(allow_nan=False, allow_infinity=False)))
def test_a_toml_value_reads_back_as_itself(value: Any) -> None:
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    assert parse_value(text) == value
