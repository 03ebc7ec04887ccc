from tests.channel_fixtures import (  # noqa: F401  (fixtures)
    channel_settings,
    fake_twilio,
    fake_twilio_server,
    fake_whatsapp,
    fake_whatsapp_server,
)
