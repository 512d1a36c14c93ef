"""The one builder of client queries (adapters.common.queries): each dialect's filter names, read to typed
values, and the FilterError each dialect words its 400 from. Pure: no broker needed."""

import pytest

from adapters.common.queries import FilterError, client_query, filtered
from adapters.common.timefmt import parse_time
from schemas.records import ClientQuery


def epoch_s(text: str) -> float:
    return float(text)


def test_each_dialect_names_its_filters():
    v5 = client_query(
        {
            "clientid": ["a", "b"],
            "username": ["u"],
            "like_clientid": "sen",
            "ip_address": "10.0.0.1",
            "conn_state": "connected",
            "clean_start": True,
            "proto_ver": "5",
        },
        "v5",
        read_time=parse_time,
    )
    assert v5 == ClientQuery(
        clientid=["a", "b"],
        username=["u"],
        like_clientid="sen",
        ip_address="10.0.0.1",
        conn_state="connected",
        clean_start=True,
        proto_ver=5,
    )
    emqx4 = client_query(
        {
            "_like_clientid": "sen",
            "_gte_mqueue_len": "3",
            "proto_name": "MQTT",
            "_lte_connected_at": "1700000000",
            "clean_start": "false",
        },
        "emqx4",
        read_time=epoch_s,
    )
    assert emqx4 == ClientQuery(
        like_clientid="sen", gte_mqueue_len=3, proto_name="MQTT", lte_connected_at=1700000000.0, clean_start=False
    )


def test_names_of_other_dialects_and_other_parameters_are_ignored():
    # `_like_clientid` is EMQX 4's name, `page` no filter: neither is a v5 filter.
    assert (
        client_query({"_like_clientid": "x", "page": 2, "fields": "all"}, "v5", read_time=parse_time) == ClientQuery()
    )
    assert client_query({"like_clientid": "x"}, "emqx4", read_time=epoch_s) == ClientQuery()


def test_a_single_text_becomes_a_list_and_the_last_repeat_wins_elsewhere():
    assert client_query({"clientid": "only"}, "v5", read_time=parse_time).clientid == ["only"]
    assert client_query({"proto_ver": ["3", "4"]}, "v5", read_time=parse_time).proto_ver == 4


def test_the_first_of_two_names_for_one_field_wins():
    # NanoMQ reads `clientid` and `client_id`.
    assert client_query({"client_id": "b"}, "nanomq", read_time=epoch_s).clientid == ["b"]
    assert client_query({"clientid": "a", "client_id": "b"}, "nanomq", read_time=epoch_s).clientid == ["a"]


def test_values_already_typed_by_the_dialect_pass_as_they_are():
    q = client_query({"clean_start": False, "proto_ver": 3}, "v5", read_time=parse_time)
    assert (q.clean_start, q.proto_ver) == (False, 3)


def test_times_are_read_by_the_dialects_reader():
    q = client_query(
        {"gte_created_at": "2000-01-01T00:00:00Z", "lte_created_at": "946684800000"}, "v5", read_time=parse_time
    )
    assert q.gte_created_at == q.lte_created_at == 946684800.0


@pytest.mark.parametrize(
    ("values", "dialect", "param", "expected"),
    [
        ({"proto_ver": "five"}, "v5", "proto_ver", "integer"),
        ({"_gte_mqueue_len": "lots"}, "emqx4", "_gte_mqueue_len", "integer"),
        ({"clean_start": "yes"}, "emqx4", "clean_start", "boolean"),
        ({"gte_connected_at": "yesterday"}, "v5", "gte_connected_at", "time"),
        ({"_gte_created_at": "soon"}, "emqx4", "_gte_created_at", "time"),
        ({"conn_state": "sleeping"}, "nanomq", "conn_state", "conn_state"),
    ],
)
def test_an_unreadable_value_names_the_parameter_value_and_expectation(values, dialect, param, expected):
    read_time = parse_time if dialect == "v5" else epoch_s
    with pytest.raises(FilterError) as caught:
        client_query(values, dialect, read_time=read_time)
    assert (caught.value.param, caught.value.value, caught.value.expected) == (param, values[param], expected)


def test_filtered_says_whether_any_filter_of_the_dialect_is_given():
    assert filtered({"_like_clientid": "x", "_page": "1"}, "emqx4")
    assert not filtered({"_page": "1", "_limit": "10"}, "emqx4")
    assert not filtered({"like_clientid": "x"}, "emqx4")  # v5's name
