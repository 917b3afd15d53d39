import pytest

from dc_overview.inventory.errors import ValidationFailed
from dc_overview.inventory.validation import ServerCreate, check_address, parse


@pytest.mark.parametrize(
    "value, expected",
    [
        ("10.0.0.1", "10.0.0.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("gpu-01.example.com", "gpu-01.example.com"),
        ("GPU-01.Example.com.", "gpu-01.example.com"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_good_addresses_are_normalised(value: str, expected: str) -> None:
    assert check_address(value) == expected


@pytest.mark.parametrize(
    "value",
    ["256.1.1.1", "10.0.0", "1.2.3.4.5", "0.0.0.0", "::", "224.0.0.1", "-bad.example", "a b",
     "gpu_01.example.com", "2001:db8::zz", "", "x" * 64 + ".com"],
)  # fmt: skip
def test_bad_addresses_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        check_address(value)


def test_errors_name_every_bad_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse(
            ServerCreate,
            {"name": "-x", "server_ip": "999.1.1.1", "ssh_port": 0, "colour": "red"},
        )
    fields = caught.value.fields()
    assert set(fields) == {"name", "server_ip", "ssh_port", "colour"}
    assert "unknown field" in fields["colour"]
    assert "greater than or equal to 1" in fields["ssh_port"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "a", "server_ip": "10.0.0.1", "ssh_port": "22"}, "ssh_port"),
        ({"name": "a", "server_ip": "10.0.0.1", "ssh_port": True}, "ssh_port"),
        ({"name": "a", "server_ip": "10.0.0.1", "ssh_port": 65536}, "ssh_port"),
        ({"name": "a", "server_ip": "10.0.0.1", "has_gpu": "yes"}, "has_gpu"),
        ({"name": "a", "server_ip": "10.0.0.1", "labels": {"job": "x"}}, "labels"),
        ({"name": "a", "server_ip": "10.0.0.1", "labels": {"rack": 1}}, "labels.rack"),
        ({"name": "a", "server_ip": "10.0.0.1", "exporters": {"gpu": {}}}, "exporters"),
        (
            {"name": "a", "server_ip": "10.0.0.1", "exporters": {"node": {"port": 0}}},
            "exporters.node.port",
        ),
        ({"name": "a" * 64, "server_ip": "10.0.0.1"}, "name"),
        ({"server_ip": "10.0.0.1"}, "name"),
        ({"name": "a", "server_ip": "10.0.0.1", "ssh_user": "Root;rm"}, "ssh_user"),
    ],
)
def test_wrong_types_and_ranges_name_the_field(body: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse(ServerCreate, body)
    assert field in caught.value.fields(), caught.value.fields()


def test_non_object_body_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse(ServerCreate, ["name"])
    assert caught.value.fields() == {"body": "must be a JSON object"}
