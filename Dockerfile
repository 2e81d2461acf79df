# Container for Cloud Run (`gcloud run deploy --source .` also works without it, via the Procfile).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
# Only the service: the local Google, the local stack, tests and benchmarks are outside
# both the build context (.dockerignore) and these COPY lines.
COPY app.py ./
COPY addon ./addon
USER nobody
CMD exec gunicorn --bind :$PORT --workers 2 --threads 8 --timeout 60 --preload app:app
