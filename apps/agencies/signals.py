"""Cache invalidation: any saved or deleted agency or domain refreshes every host cache.

Signals (not service calls) because the admin console and django-tenants' own commands change
these rows too; invalidation happens after commit so no process caches an uncommitted state.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.agencies import hostcache
from apps.agencies.models import Agency, Domain


@receiver(post_save, sender=Agency, dispatch_uid="agencies_hostcache_agency_saved")
@receiver(post_delete, sender=Agency, dispatch_uid="agencies_hostcache_agency_deleted")
@receiver(post_save, sender=Domain, dispatch_uid="agencies_hostcache_domain_saved")
@receiver(post_delete, sender=Domain, dispatch_uid="agencies_hostcache_domain_deleted")
def invalidate_host_cache(**kwargs: Any) -> None:
    """Bump the tenancy generation once the change is committed."""
    hostcache.clear()  # this process at once (also covers the rolled-back case conservatively)
    transaction.on_commit(hostcache.bump_generation)
