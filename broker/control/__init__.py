"""``schemas.control.BrokerControl`` implemented over the in-process Broker and its MQTTServer.

Everything the dialects show is derived here from live broker state; nothing is invented, and the
one thing remembered (ClientRecords) is handed out only while the state it came from is unchanged.
Listings walk the broker's sorted client-id index, so an unfiltered page costs O(page).

This layer reads broker state to build records, and checks the shape of what it is asked; every
change is a Broker command, which applies the broker's own rules. A refusal by those rules (an MQTT
reason code) becomes a ``schemas.errors`` type in one place, ``refusal_error``.
"""

from .admin import AdminControl
from .auth import AuthControl
from .clients import ClientsControl
from .monitor import MonitorControl
from .node import NodeControl
from .retained import RetainedControl
from .routing import RoutingControl
from .sessions import SessionsControl
from .subscriptions import SubscriptionsControl

__all__ = ["BrokerController"]


class BrokerController(
    MonitorControl,  # before NodeControl, whose figures it samples
    NodeControl,
    ClientsControl,
    SessionsControl,
    SubscriptionsControl,
    RoutingControl,
    RetainedControl,
    AdminControl,
    AuthControl,
):
    """The broker as the adapters see it: one part per area of the interface (``schemas.control``)."""
