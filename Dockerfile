# Container for Cloud Run (`gcloud run deploy --source .` also works without it, via the Procfile).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY app.py ./
COPY addon ./addon
# The local emulator and console ship in the package but are never started in production.
USER nobody
CMD exec gunicorn --bind :$PORT --workers 2 --threads 8 --timeout 60 app:app
