import pytest

from tests.http_helpers import gateway  # noqa: F401  (fixture)
from tests.mqtt_helpers import RunningBroker


@pytest.fixture
def broker():
    b = RunningBroker()
    yield b
    b.close()


@pytest.fixture
def make_broker():
    made = []

    def make(**overrides):
        b = RunningBroker(**overrides)
        made.append(b)
        return b
    yield make
    for b in made:
        b.close()
