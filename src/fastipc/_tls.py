"""TLS for ``serveNet``/``connectToNet``: ``ssl.SSLContext`` from ``config.tls``.

``config.tls`` takes node-ipc's keys. Every file is read and every PEM is
loaded when the server starts or the client begins connecting, so a
misconfiguration raises ``TLSConfigurationError`` (naming the
key and the file) before anything listens or connects, as node-ipc 14 throws
from ``start()``/``connectToNet()``.

Where key material comes from:

``key``, ``cert``, ``ca``
    PEM contents, as node-ipc takes them: ``str`` or ``bytes`` (``ca`` may
    also be a list of them). As a Python convenience, an ``os.PathLike`` or a
    ``str`` without ``-----BEGIN`` is read as a file path instead.
``private``, ``public``, ``trustedConnections``
    node-ipc's file aliases: the key file, the certificate file, and one CA
    file or a list of them. ``private``/``public`` win over ``key``/``cert``;
    ``trustedConnections`` adds to ``ca``.

There is no bundled certificate (node-ipc 14 dropped 9.x's). The TLS
handshake completes before ``connect`` fires on either side (asyncio runs it
before ``connection_made``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from ._config import Config
from ._wire import profile_of
from .errors import AssuredTLSError, AssuredTransportError, TLSConfigurationError

__all__ = [
    "HANDSHAKE_TIMEOUT",
    "check_network_transport",
    "client_context",
    "server_context",
    "server_name",
]

logger = logging.getLogger("fastipc")

#: Seconds a peer gets to finish the TLS handshake (asyncio's default is 60).
HANDSHAKE_TIMEOUT = 30.0

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


# ---------------------------------------------------------------- assured


def check_network_transport(config: Config, *, server: bool) -> None:
    """node-ipc 14's rule: the assured parser uses the network over TLS only.

    Raises:
        AssuredTransportError: Raised when ``parser='assured'`` and
            ``config.tls`` is not set.
    """
    if _assured(config) and config.tls is False:
        what = "network servers" if server else "network connections"
        raise AssuredTransportError(
            f"the assured parser requires TLS for {what}: set ipc.config.tls "
            "(mutual TLS: key, cert, ca, requestCert, rejectUnauthorized)"
        )


def _assured(config: Config) -> bool:
    return profile_of(config) == "assured"


# ---------------------------------------------------------------- material


class _Pem:
    """One piece of PEM material and where it came from (for messages)."""

    __slots__ = ("data", "where")

    def __init__(self, data: bytes, where: str) -> None:
        self.data = data
        self.where = where


def _read(key: str, path: Any) -> _Pem:
    where = f"tls.{key} file {os.fspath(path)!r}"
    try:
        with open(path, "rb") as handle:
            return _Pem(handle.read(), where)
    except OSError as exc:
        raise TLSConfigurationError(f"cannot read {where}: {exc.strerror or exc}") from exc


def _material(key: str, value: Any) -> _Pem:
    """PEM contents (node-ipc's form) or, for Python callers, a file path."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _Pem(bytes(value), f"tls.{key}")
    if isinstance(value, str) and "-----BEGIN" in value:
        return _Pem(value.encode("ascii", "replace"), f"tls.{key}")
    if isinstance(value, (str, os.PathLike)):
        if not value:
            raise TLSConfigurationError(f"tls.{key} is empty")
        return _read(key, value)
    raise TLSConfigurationError(
        f"tls.{key} must be PEM contents (str or bytes) or a file path, got {type(value).__name__}"
    )


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _gather(tls: dict[str, Any]) -> tuple[_Pem | None, _Pem | None, list[_Pem]]:
    """The key, the certificate (chain) and the CAs, aliases applied as node-ipc does."""
    key = cert = None
    if tls.get("private"):
        key = _read("private", tls["private"])
    elif tls.get("key") is not None and tls.get("key") is not False:
        key = _material("key", tls["key"])
    if tls.get("public"):
        cert = _read("public", tls["public"])
    elif tls.get("cert") is not None and tls.get("cert") is not False:
        cert = _material("cert", tls["cert"])
    cas: list[_Pem] = []
    if tls.get("ca") is not None and tls.get("ca") is not False:
        cas.extend(_material("ca", item) for item in _as_list(tls["ca"]))
    if tls.get("trustedConnections"):
        cas.extend(
            _read("trustedConnections", path) for path in _as_list(tls["trustedConnections"])
        )
    for pem, label in ((key, "PRIVATE KEY-----"), (cert, "CERTIFICATE-----")):
        if pem is not None and (b"-----BEGIN" not in pem.data or label.encode() not in pem.data):
            raise TLSConfigurationError(f"{pem.where} holds no PEM {label[:-5].lower()}")
    for pem in cas:
        if b"-----BEGIN CERTIFICATE-----" not in pem.data:
            raise TLSConfigurationError(f"{pem.where} holds no PEM certificate")
    return key, cert, cas


@contextlib.contextmanager
def _file_of(data: bytes) -> Iterator[str]:
    """A path OpenSSL can read ``data`` from, gone afterwards.

    ``ssl`` loads keys and certificates from files only: an anonymous memory
    file where the platform has one, else an owner-only temporary file.
    """
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None and os.path.isdir("/proc/self/fd"):
        fd = memfd_create("fastipc-tls", getattr(os, "MFD_CLOEXEC", 0))
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(
        prefix="fastipc-tls-"
    ) as folder:  # pragma: no cover - non-Linux
        path = os.path.join(folder, "pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield path


def _load_identity(context: ssl.SSLContext, key: _Pem, cert: _Pem, passphrase: Any) -> None:
    if passphrase is not None and not isinstance(passphrase, (str, bytes)):
        raise TLSConfigurationError(
            f"tls.passphrase must be a str, got {type(passphrase).__name__}"
        )
    secret = passphrase.encode() if isinstance(passphrase, str) else (passphrase or b"")
    with _file_of(cert.data) as cert_path, _file_of(key.data) as key_path:
        try:
            # A callable, never None: None would make OpenSSL prompt on the terminal.
            context.load_cert_chain(cert_path, key_path, password=lambda: secret)
        except ssl.SSLError as exc:
            if exc.reason == "KEY_VALUES_MISMATCH":
                message = f"the key in {key.where} does not match the certificate in {cert.where}"
            elif b"ENCRYPTED" in key.data:
                message = f"cannot decrypt {key.where}: wrong or missing tls.passphrase"
            else:
                message = f"cannot load {cert.where} with {key.where}: {exc}"
            raise TLSConfigurationError(message) from exc


def _load_cas(context: ssl.SSLContext, cas: list[_Pem]) -> None:
    for pem in cas:
        try:
            context.load_verify_locations(cadata=pem.data.decode("ascii"))
        except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
            raise TLSConfigurationError(
                f"cannot load the CA certificate(s) in {pem.where}: {exc}"
            ) from exc


def _tuning(context: ssl.SSLContext, tls: dict[str, Any]) -> None:
    """The optional node keys fastipc maps onto ``ssl``."""
    if tls.get("checkServerIdentity"):
        raise TLSConfigurationError(
            "tls.checkServerIdentity is not supported by fastipc; use tls.servername to "
            "name the host the certificate must match"
        )
    for name, attr in (("minVersion", "minimum_version"), ("maxVersion", "maximum_version")):
        if tls.get(name):
            if tls[name] not in _VERSIONS:
                raise TLSConfigurationError(
                    f"tls.{name} must be one of {', '.join(_VERSIONS)}, got {tls[name]!r}"
                )
            setattr(context, attr, _VERSIONS[tls[name]])
    try:
        if tls.get("ciphers"):
            context.set_ciphers(tls["ciphers"])
        curve = tls.get("ecdhCurve")
        if curve and curve != "auto":
            if ":" in curve:
                raise TLSConfigurationError(
                    f"tls.ecdhCurve: fastipc takes one curve name, got {curve!r}"
                )
            context.set_ecdh_curve(curve)
        if tls.get("dhparam"):
            dh = _material("dhparam", tls["dhparam"])
            with _file_of(dh.data) as path:
                context.load_dh_params(path)
    except (ssl.SSLError, ValueError) as exc:
        if isinstance(exc, TLSConfigurationError):
            raise
        raise TLSConfigurationError(f"ipc.config.tls: {exc}") from exc
    # Node's servers prefer their own cipher order unless told otherwise
    if tls.get("honorCipherOrder") is False:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE


# ---------------------------------------------------------------- contexts


def server_context(
    config: Config, on_handshake_failed: Callable[[ssl.SSLError], None] | None = None
) -> ssl.SSLContext:
    """The ``ssl.SSLContext`` of a TLS server, from ``config.tls``.

    node-ipc 14's rules: a key and a certificate are required; a ``ca`` (or
    ``trustedConnections``) with ``requestCert`` unset turns ``requestCert``
    on; with ``requestCert``, ``rejectUnauthorized`` defaults to true. Client
    certificates: none asked for without ``requestCert``; required and
    verified with ``requestCert`` and ``rejectUnauthorized``; optional with
    ``rejectUnauthorized=False`` (a client without one is accepted; unlike
    Node, one that is presented and does not verify is still refused).

    Args:
        config: the server's config; ``config.tls`` is a dict.
        on_handshake_failed: called (on the loop) with the error of each
            client whose handshake fails.

    Raises:
        TLSConfigurationError: Raised when the key or certificate is missing,
            unreadable, not PEM, or the two do not match.
        AssuredTLSError: Raised under ``parser='assured'`` without a client CA,
            ``requestCert`` and ``rejectUnauthorized``.
    """
    tls: dict[str, Any] = config.tls
    key, cert, cas = _gather(tls)
    if key is None or cert is None:
        raise TLSConfigurationError(
            "TLS servers require an explicit key and certificate: set tls.private/tls.public "
            "(file paths) or tls.key/tls.cert (PEM contents); fastipc bundles none"
        )
    request_cert = tls.get("requestCert")
    if cas and request_cert is None:
        request_cert = True
    reject = tls.get("rejectUnauthorized")
    if request_cert and reject is None:
        reject = True
    if _assured(config) and (request_cert is not True or reject is not True or not cas):
        raise AssuredTLSError(
            "assured network servers require a trusted client CA (tls.ca or tls.trustedConnections), "
            "requestCert=True and rejectUnauthorized=True"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _load_identity(context, key, cert, tls.get("passphrase"))
    if request_cert:
        if cas:
            _load_cas(context, cas)
        else:
            context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        context.verify_mode = ssl.CERT_REQUIRED if reject is not False else ssl.CERT_OPTIONAL
    else:
        context.verify_mode = ssl.CERT_NONE
    _tuning(context, tls)
    if on_handshake_failed is not None:
        context.sslobject_class = _reporting_sslobject(on_handshake_failed)
    return context


def client_context(config: Config) -> ssl.SSLContext:
    """The ``ssl.SSLContext`` of a TLS client, from ``config.tls``.

    ``rejectUnauthorized`` is true unless set to ``False``: the server's
    certificate must chain to ``ca``/``trustedConnections`` (the system's
    CAs when neither is given) and match the host connected to, or
    ``tls.servername``. ``rejectUnauthorized=False`` turns both checks off.
    ``key``/``cert`` (or ``private``/``public``) present a client
    certificate for mutual TLS.

    Raises:
        TLSConfigurationError: Raised when a file is missing or unreadable, a
            PEM is malformed, only one of key and certificate is given, or
            they do not match.
        AssuredTLSError: Raised under ``parser='assured'`` without a key, a
            certificate, a CA and ``rejectUnauthorized=True``.
    """
    tls: dict[str, Any] = config.tls
    key, cert, cas = _gather(tls)
    reject = tls.get("rejectUnauthorized")
    if reject is None:
        reject = True
    if _assured(config) and (reject is not True or not cas or key is None or cert is None):
        raise AssuredTLSError(
            "assured network clients require a key, a certificate, a trusted CA "
            "(tls.ca or tls.trustedConnections) and rejectUnauthorized=True"
        )
    if (key is None) != (cert is None):
        missing = "tls.public/tls.cert" if cert is None else "tls.private/tls.key"
        raise TLSConfigurationError(
            f"a client certificate needs both a key and a certificate: {missing} is missing"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if key is not None and cert is not None:
        _load_identity(context, key, cert, tls.get("passphrase"))
    if cas:
        _load_cas(context, cas)
    elif reject:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if not reject:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    _tuning(context, tls)
    return context


def server_name(config: Config, host: str) -> str:
    """The name the server's certificate must match: ``tls.servername`` or the host."""
    name = config.tls.get("servername")
    if name is not None and not isinstance(name, str):
        raise TLSConfigurationError(f"tls.servername must be a str, got {name!r}")
    return name or host


def _reporting_sslobject(report: Callable[[ssl.SSLError], None]) -> type[ssl.SSLObject]:
    """An ``SSLObject`` class that reports a failed server-side handshake.

    asyncio drops a client whose handshake fails without telling the
    server's protocol (it was never connected); ``SSLContext.sslobject_class``
    is the documented hook that sees the failure.
    """

    class ReportingSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            try:
                super().do_handshake()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise
            except ssl.SSLError as exc:
                try:
                    report(exc)
                except Exception:  # pragma: no cover - a reporter must not break the loop
                    logger.exception("fastipc: reporting a failed TLS handshake failed")
                raise

    return ReportingSSLObject
