"""S3-compatible object storage for documents and certificates (``STORAGE_S3_BUCKET``).

Imported only when configured, so a single-machine deployment never loads boto3. Same
agency-prefix rule as the filesystem storage (apps/core/storage.py).
"""

from __future__ import annotations

import io
from typing import IO, Any, cast

from botocore.exceptions import ClientError
from django.utils.deconstruct import deconstructible
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from apps.core.storage import AgencyPrefixMixin, check_agency_prefix


class Download(io.RawIOBase):
    """A stored object being streamed to a client: ``read`` straight from the store's answer.

    ``size`` is known before the first byte is read (the download views send it as
    ``Content-Length``).
    """

    def __init__(self, body: Any, *, size: int) -> None:
        super().__init__()
        self._body = body
        self.size = size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return bytes(self._body.read(None if size is None or size < 0 else size))

    def readinto(self, buffer: Any) -> int:  # pragma: no cover - read() is what is used
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


@deconstructible(path="apps.core.storage_s3.AgencyS3Storage")
class AgencyS3Storage(AgencyPrefixMixin, S3Storage):
    """Private objects in an S3-compatible bucket, shared by every web and worker machine."""

    def get_default_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = super().get_default_settings()
        # True: downloads answer 302 to a signed URL valid ``querystring_expire`` seconds.
        settings["download_redirect"] = False
        return settings

    def signed_download_url(self, name: str, *, filename: str, content_type: str) -> str | None:
        """A short-lived signed URL serving ``name`` as an attachment (redirect mode), or None.

        The object store then answers with the headers the application would have sent
        (``Content-Disposition: attachment``, the type, ``Cache-Control: private, no-store``).
        """
        if not self.download_redirect:
            return None
        check_agency_prefix(name)
        return str(
            self.url(
                name,
                parameters={
                    "ResponseContentDisposition": content_disposition_header(True, filename),
                    "ResponseContentType": content_type,
                    "ResponseCacheControl": "private, no-store",
                },
                expire=self.querystring_expire,
            )
        )

    def open_for_download(self, name: str) -> IO[bytes]:
        """The object's body, streamed as it arrives: one GET, nothing buffered.

        ``open()`` would first ask for the object's metadata (a HEAD) and then copy the whole
        object into a temporary file before the first byte reaches the client.
        """
        check_agency_prefix(name)
        key = self._normalize_name(clean_name(name))
        try:
            answer = self.bucket.Object(key).get()
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                raise FileNotFoundError(f"File does not exist: {name}") from None
            raise
        return cast(IO[bytes], Download(answer["Body"], size=int(answer["ContentLength"])))
