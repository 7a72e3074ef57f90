"""A team's target over https, its certificate signed by their own CA: the whole suite trusts what SSL_CERT_FILE
(or SSL_CERT_DIR) trusts, schemathesis's child process included, so no part fails for TLS alone."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from simulator.launcher import PROJECT_ROOT, free_port
from tests.contract.harness import FOREIGN_KEYS, PERF_CONTRACT, run_contract, tree_env

RULES = "schemathesis or test_url_is_a_png_of_the_requested_size or test_prompt_only_gets_every_default"
STARTUP_SECONDS = 30


def _certificate(
    subject: str, issuer: x509.Name | None, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def private_ca(directory: Path) -> tuple[Path, Path, Path]:
    """(the CA's certificate, a server certificate for 127.0.0.1 it signed, the server's key), as PEM files."""
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("perf-contract test CA", None, ca_key, ca_key)
    server = _certificate("127.0.0.1", ca.subject, server_key, ca_key)
    paths = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_bytes = server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    paths[2].write_bytes(key_bytes)
    return paths


@contextmanager
def https_target(directory: Path, factory: str = "tests.contract.without_control:app") -> Iterator[tuple[str, Path]]:
    """The simulator without its control API (or another `factory`), served over https with a private CA's
    certificate: (URL, the CA)."""
    ca, certificate, key = private_ca(directory)
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
        "--port", str(port), "--ssl-certfile", str(certificate), "--ssl-keyfile", str(key), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=tree_env())
    url = f"https://127.0.0.1:{port}"
    try:
        trusting_ca = ssl.create_default_context(cafile=str(ca))
        for _ in range(STARTUP_SECONDS * 10):
            try:
                httpx.get(url + "/openapi.json", verify=trusting_ca, timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "the https simulator exited"
                time.sleep(0.1)
        yield url, ca
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_target_whose_certificate_a_private_ca_signed_is_judged_by_every_part_of_the_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with https_target(tmp_path) as (url, ca):
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        junit = tmp_path / "junit.xml"
        command = [*PERF_CONTRACT, "--base-url", url, "--key", "pk_live_abc123", *FOREIGN_KEYS, "--junit-xml", str(junit)]
        # --judge all: schemathesis's rule is a decision, and judged by the document a refused handshake would only differ.
        verdict = run_contract(url, junit, "-k", RULES, "--judge", "all", command=command)
    assert verdict.returncode == 0, verdict.output[-4000:]
    assert verdict.tests >= 9 and not verdict.failures and not verdict.skipped, verdict.skipped


def test_a_target_whose_certificate_the_suite_does_not_trust_gets_no_verdict_and_is_told_how_to_trust_it(tmp_path: Path) -> None:
    with https_target(tmp_path) as (url, _):
        environment = {name: value for name, value in tree_env().items() if name not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
        command = [*PERF_CONTRACT, "--base-url", url, "--key", "pk_live_abc123", "--level", "smoke"]
        refused = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr
    assert "(the suite trusts certifi's CAs; for a certificate your own CA signed, give its PEM file in SSL_CERT_FILE)" in refused.stderr


def test_an_image_url_that_cannot_be_fetched_says_when_its_scheme_is_not_the_base_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Image URLs written http:// by a target served over https failed each image case with "the target broke the
    exchange ... on: curl ... GET http://...", the cause left for the reader to spot in the curl line."""
    with https_target(tmp_path, "tests.contract.without_control:with_http_image_urls") as (url, ca):
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        junit = tmp_path / "junit.xml"
        command = [*PERF_CONTRACT, "--base-url", url, "--key", "pk_live_abc123", *FOREIGN_KEYS, "--junit-xml", str(junit)]
        verdict = run_contract(url, junit, "-k", "test_url_is_a_png_of_the_requested_size and dall-e-2", command=command)
    assert verdict.returncode == 1, verdict.output[-4000:]
    (line,) = [line for line in verdict.output.splitlines() if line.startswith("  test_images::test_url_is_a_png_of_the_requested_size")]
    assert "the target broke the exchange" in line and line.endswith("(the URL's scheme is http while --base-url is https)"), line


def test_a_plain_http_base_url_at_a_tls_port_gets_no_verdict_asking_whether_it_is_https(tmp_path: Path) -> None:
    """It said "cannot reach http://...: Connection reset by peer" alone, as of a server that is down."""
    with https_target(tmp_path) as (url, _):
        plain = "http://" + url.removeprefix("https://")
        command = [*PERF_CONTRACT, "--base-url", plain, "--key", "pk_live_abc123", "--level", "smoke"]
        refused = subprocess.run(command, cwd=tmp_path, env=tree_env(), capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and refused.stdout == "" and refused.stderr.count("\n") == 1, refused.stdout + refused.stderr
    assert refused.stderr.startswith(f"perf-contract: no verdict: cannot reach {plain}: "), refused.stderr
    assert refused.stderr.rstrip().endswith(f"(the port speaks TLS: is it https? give --base-url {url})"), refused.stderr
