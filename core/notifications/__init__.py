from core.notifications.service import deliver, notify, notify_user

__all__ = ["deliver", "notify", "notify_user"]
