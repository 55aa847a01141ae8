# The userpipe project image: the CLI with dlt, dbt-postgres and Great Expectations, plus the repo's dbt
# project and checks. docker compose runs it as the local randomuser API (`userpipe api serve`); Kestra's
# flow tasks run `userpipe ...` commands in it (tag userpipe:latest). Connection settings come from the
# environment (USERPIPE_DATABASE_URL ...): the image holds no secrets and starts no database of its own.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    USERPIPE_HOME=/home/userpipe/.userpipe

RUN useradd --create-home --uid 10001 userpipe
WORKDIR /app

# Dependencies first (from pyproject.toml), so code edits do not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself, editable so dbt_project/, profiles.yml and quality/ stay where the code expects them.
COPY . .
RUN pip install --no-deps -e . \
    && chown -R userpipe:userpipe /app

USER userpipe
EXPOSE 8000
CMD ["userpipe", "--help"]
