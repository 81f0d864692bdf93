"""Alerts: rendering change sets, channels (Apprise and console) and outbox delivery."""

from monitor.notify.channels import ChannelNotifier, Notifier
from monitor.notify.deliver import DeliveryReport, RetryPolicy, deliver_due
from monitor.notify.render import render_alert

__all__ = [
    "ChannelNotifier",
    "DeliveryReport",
    "Notifier",
    "RetryPolicy",
    "deliver_due",
    "render_alert",
]
