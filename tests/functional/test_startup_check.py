"""nova-compute's start-up check of [glance] store, in its real log."""

import logging


def test_init_host_logs_error_for_unusable_store(compute, caplog):
    compute.set('glance', 'store', 'nowhere')
    with caplog.at_level(logging.INFO, logger='nova_glance_multistore'):
        compute.start()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and
              r.name.startswith('nova_glance_multistore')]
    assert len(errors) == 1, caplog.text
    message = errors[0].getMessage()
    assert "'nowhere'" in message and 'not enabled in Glance' in message
    assert 'fast, cheap, archive' in message


def test_init_host_logs_info_for_usable_store(compute, caplog):
    compute.set('glance', 'store', 'archive')
    with caplog.at_level(logging.INFO, logger='nova_glance_multistore'):
        compute.start()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and
                r.name.startswith('nova_glance_multistore')]
    assert "[glance] store 'archive' is a writable Glance store" in \
        caplog.text
