"""The product's version, in the one place the broker (`$SYS/.../version`, node information), the dialects
(features, `/status`, the OpenAPI documents) and the package metadata (pyproject's dynamic version) read it."""

VERSION = "0.1.0"
