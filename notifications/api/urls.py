from django.urls import path

from . import channels, views

urlpatterns = [
    path("devices/", views.DeviceRegister.as_view(), name="device-register"),
    path("devices/<path:token>/", views.DeviceDetail.as_view(), name="device-detail"),
    path("notifications/", views.InboxList.as_view(), name="notification-list"),
    path("notifications/read-all/", views.InboxMarkAllRead.as_view(), name="notification-read-all"),
    path("notifications/preferences/", views.Preferences.as_view(), name="notification-preferences"),
    path("notifications/<int:pk>/read/", views.InboxMarkRead.as_view(), name="notification-read"),
    path("notifications/channels/", channels.ContactChannels.as_view(), name="contact-channels"),
    path("channels/whatsapp/webhook/", channels.whatsapp_webhook, name="whatsapp-webhook"),
    path("channels/sms/twilio/status/", channels.twilio_status_webhook, name="twilio-status"),
]
