"""Features the gateway owns, registered with the broker controller so that every dialect lists and
toggles them exactly like the broker's own (EMQ 2.x shows them as plugins).
"""

from __future__ import annotations

import asyncio

import attrs

from schemas.control import BrokerControl
from schemas.errors import NotFound
from schemas.records import DASHBOARD_ACCOUNTS, AuthenticatorConfig

from .config import GatewayConfig


async def register_gateway_features(control: BrokerControl, broker, accounts, config: GatewayConfig) -> None:
    """`auth_username` with the embedded broker (``broker``; None in front of an EMQX cluster, which
    authenticates its own MQTT clients); `dashboard` only when a dashboard directory is configured,
    since without one it would do nothing.

    `auth_username` switches the authenticator chain's ``password_based:dashboard_accounts`` (the account
    store is attached here): on at start when the file says ``mqtt_auth_accounts = true``, off otherwise,
    whatever the chain was left with, as the switch always was. Call it before the MQTT listeners open."""
    if broker is not None:
        await _register_mqtt_auth(control, broker, accounts, config)
    if config.http.dashboard_dir:

        async def dashboard_on() -> bool:
            return config.http.dashboard

        async def set_dashboard(on: bool) -> None:
            config.http.dashboard = on

        control.register_feature("dashboard", "Serves the web dashboard", dashboard_on, set_dashboard)


async def _register_mqtt_auth(control: BrokerControl, broker, accounts, config: GatewayConfig) -> None:
    def check(username, password, clientid, peerhost):
        if username is None or password is None:
            return False
        try:
            text = password.decode()
        except UnicodeDecodeError:
            return False
        if accounts.recently_verified(username, text):
            return True
        # A miss costs a slow hash (~50 ms): run it in a thread, never on the broker's loop.
        return asyncio.to_thread(accounts.check_password, username, text)

    # The switch is the chain's own authenticator, changed through the control interface as an API
    # change to it would be: the broker's command emits its event and the chain is kept.
    async def auth_on() -> bool:
        return any(c.id == DASHBOARD_ACCOUNTS and c.enable for c in await control.authenticators())

    async def set_auth(on: bool) -> None:
        config.mqtt_auth_accounts = on
        try:
            current = await control.get_authenticator(DASHBOARD_ACCOUNTS)
        except NotFound:
            if on:
                await control.create_authenticator(AuthenticatorConfig(backend="dashboard_accounts"))
            return
        if current.enable != on:
            await control.update_authenticator(DASHBOARD_ACCOUNTS, attrs.evolve(current, enable=on))

    broker.attach_account_check(check)
    await set_auth(config.mqtt_auth_accounts)
    control.register_feature(
        "auth_username", "Authenticates MQTT usernames against the dashboard accounts", auth_on, set_auth
    )
