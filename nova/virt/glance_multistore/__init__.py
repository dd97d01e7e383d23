# nova imports compute drivers only as ``nova.virt.<name>``; this re-export
# lets ``compute_driver = glance_multistore.LibvirtDriver`` reach our driver.
# It must hold no logic: everything lives in nova_glance_multistore.
from nova_glance_multistore.driver import LibvirtDriver  # noqa: F401

__all__ = ['LibvirtDriver']
