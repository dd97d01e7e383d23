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

"""The contract between nova-glance-multistore and an upload hook."""

import abc
import dataclasses
import typing

from nova.compute import task_states

if typing.TYPE_CHECKING:  # pragma: no cover
    from nova_glance_multistore import stores as stores_mod
    from nova_glance_multistore import target as target_mod

NAMESPACE = 'nova_glance_multistore.upload_hooks'

_KIND_BY_TASK_STATE = {
    task_states.IMAGE_SNAPSHOT: 'snapshot',
    task_states.IMAGE_SNAPSHOT_PENDING: 'snapshot',
    task_states.IMAGE_BACKUP: 'backup',
    task_states.SHELVING: 'shelve',
    task_states.SHELVING_IMAGE_PENDING_UPLOAD: 'shelve',
    task_states.SHELVING_IMAGE_UPLOADING: 'shelve',
}


def upload_kind(instance: typing.Any) -> str:
    """'snapshot', 'backup' or 'shelve', from the instance's task state."""
    kind: str = _KIND_BY_TASK_STATE.get(
        getattr(instance, 'task_state', None), 'snapshot')
    return kind


@dataclasses.dataclass
class UploadRequest:
    """One image upload about to happen, as hooks see it.

    A hook reads the facts and may set ``target`` (an
    ``nova_glance_multistore.target.UploadTarget``); the target left after
    the last hook is validated against Glance before any data is read.
    """

    context: typing.Any  # nova's RequestContext
    instance: typing.Any  # nova's Instance
    image_id: str
    kind: str  # 'snapshot', 'backup' or 'shelve'
    base_image_ref: typing.Optional[str]
    # The store list; None when multi-store is off in Glance.
    stores: typing.Optional['stores_mod.StoreList']
    glance: typing.Any  # GlanceFacts, to ask Glance more
    target: typing.Optional['target_mod.UploadTarget'] = None


class UploadHook(metaclass=abc.ABCMeta):
    """Base class of upload hooks; one instance per nova-compute."""

    def __init__(self, conf: typing.Any) -> None:
        self.conf = conf

    @abc.abstractmethod
    def before_upload(self, request: UploadRequest) -> None:
        """Inspect or change ``request.target``; raise to refuse."""
