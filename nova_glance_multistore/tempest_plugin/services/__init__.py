from nova_glance_multistore.tempest_plugin.services.image_stores_client \
    import ImageStoresClient

__all__ = ['ImageStoresClient']
