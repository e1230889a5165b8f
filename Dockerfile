# The exchange as a container: Debian + the HanaMin fallback font + the package.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends fonts-hanazono \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY verifier verifier
COPY issuers issuers
COPY exchange exchange
RUN pip install --no-cache-dir .
RUN useradd --system --home /var/lib/licex licex && mkdir -p /var/lib/licex && chown licex /var/lib/licex
USER licex
ENV LICEX_DATA_DIR=/var/lib/licex
EXPOSE 8000
CMD ["licex", "serve", "--host", "0.0.0.0", "--port", "8000"]
