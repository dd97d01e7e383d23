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

"""What can go wrong, as nova exceptions that carry their facts.

Each class is a template filled from keyword arguments (store, reason,
valid stores, ...), so the message a user sees on the instance fault says
what happened. They derive from nova's exceptions so nova-compute's manager
records them as it records its own.
"""

from nova import exception as nova_exception


class GlanceMultistoreError(nova_exception.NovaException):
    msg_fmt = 'An unknown Glance multi-store error occurred.'


class StoreRefused(GlanceMultistoreError, nova_exception.Invalid):
    msg_fmt = ("Image %(image_id)s cannot be uploaded to Glance store "
               "%(store)s (chosen by %(source)s): %(reason)s. Valid stores: "
               "%(valid_stores)s.")


class StoreNotSelectable(StoreRefused):
    """A user named a store the operator does not let users choose.

    Never replaced by Glance's default store (``on_unusable_store``): the
    user asked for this one, so the snapshot fails and says why.
    """

    msg_fmt = ("Image %(image_id)s cannot be uploaded to Glance store "
               "%(store)s (chosen by %(source)s): users may not choose that "
               "store. Stores users may choose: %(allowed)s.")


class StoreCatalogUnavailable(GlanceMultistoreError):
    """No store can be validated, so none is chosen blindly."""

    msg_fmt = ("Cannot read Glance's store list (GET /v2/info/stores): "
               "%(reason)s")


class UploadHookNotFound(GlanceMultistoreError):
    """A hook nova.conf names is not installed: a deployment error.

    Install the package that registers it in the entry point namespace
    into nova-compute's environment, or take its name out of
    ``upload_hooks``.
    """

    msg_fmt = ("Image upload hook(s) %(names)s named in [glance_multistore] "
               "upload_hooks are not installed in entry point namespace "
               "%(namespace)s. Installed: %(installed)s.")


class UploadHookLoadFailed(GlanceMultistoreError):
    """A hook is installed but its plugin cannot be imported or built."""

    msg_fmt = ("Image upload hook %(name)s from entry point namespace "
               "%(namespace)s failed to load: %(reason)s")


class CephCloneLeftBehind(GlanceMultistoreError):
    """The snapshot fails rather than stream over a clone still there."""

    msg_fmt = ("Ceph-native snapshot of image %(image_id)s into pool "
               "%(pool)s failed (%(reason)s), and Ceph could not be reached "
               "to remove the clone it made; it will be removed once Ceph "
               "answers again. The image is not streamed instead: Glance "
               "would write to the same rbd image name in that pool.")
