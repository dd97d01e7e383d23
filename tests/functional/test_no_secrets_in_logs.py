"""With DEBUG logging, a user's token never appears in logs or errors."""

import os
import uuid

import pytest

from nova_glance_multistore import exception
from tests.functional import conftest as env


def test_token_not_logged_on_success_or_refusal(
        glance, compute, boot, caplog):
    secret = 'tok-%s' % uuid.uuid4().hex
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    logfile = os.path.join(compute.workdir, 'nova-compute.log')
    offset = os.path.getsize(logfile) if os.path.exists(logfile) else 0
    original = compute.context

    def context(*args, **kwargs):
        ctxt = original(*args, **kwargs)
        ctxt.auth_token = secret
        return ctxt

    compute.context = context
    try:
        with env.debug_logging(caplog, 'keystoneauth',
                               'keystoneauth.session', 'glanceclient',
                               'nova', 'nova_glance_multistore', 'urllib3'):
            image_id = guest.snapshot('snapshot')
            compute.set('glance', 'store', 'nowhere')
            with pytest.raises(exception.StoreRefused) as refused:
                guest.snapshot('snapshot')
    finally:
        compute.context = original
    env.assert_landed(glance, image_id, 'cheap')
    assert secret not in str(refused.value)
    # Request headers are logged (redacted): the check can see a leak.
    assert 'x-auth-token' in caplog.text.lower()
    assert secret not in caplog.text
    with open(logfile, errors='replace') as handle:
        handle.seek(offset)
        assert secret not in handle.read()
