# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Where one image is, and where its copies stand: ``cli image``.

Everything comes from Glance's image record as nova's service user reads
it: ``stores`` (where the data is), ``os_glance_importing_to_stores``
(copies still running) and ``os_glance_failed_import`` (copies that
failed; glance-api's log says why).
"""

from nova_glance_multistore import image_copies


def lines(image):
    """The report of one image record, as (label, value) pairs."""
    stores = image_copies.property_stores(image, 'stores')
    pending = image_copies.property_stores(image, image_copies.IMPORTING)
    failed = image_copies.property_stores(image, image_copies.FAILED)
    return [
        ('image', '%s (%s)' % (image.get('id'), image.get('name') or
                               'no name')),
        ('status', image.get('status') or 'unknown'),
        ('stores', ', '.join(stores) or 'none'),
        ('copying to', ', '.join(pending) or 'none'),
        ('copy failed', ', '.join(failed) or 'none'),
        ('image type', image.get('image_type') or 'image'),
    ]


def render(image):
    pairs = lines(image)
    width = max(len(label) for label, _ in pairs) + 1
    return ''.join('%s %s\n' % ((label + ':').ljust(width), value)
                   for label, value in pairs)


def healthy(image):
    """True unless a copy failed or the image is not active."""
    return (image.get('status') == 'active' and not
            image_copies.property_stores(image, image_copies.FAILED))
