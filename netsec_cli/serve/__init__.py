"""`netsec serve`: the web service (FastAPI on uvicorn) over the CLI's reader, model and pipeline.

- `app`: the routes and the one error-to-status point; `create_app(config)`.
- `holder`: the model in service, reloaded when train publishes a new one.
- `predictions`: one request scored through the CLI's reader and `scoring`.
- `uploads`: request bodies read while they stream in, within `serve.max_upload_mb`.
- `jobs`: `POST /train` as a background job under the artifacts lock.
- `auth`: the token and the start-up exposure rule; `metrics`: Prometheus; `page`: the HTML;
  `negotiation`: JSON/HTML/CSV by Accept; `results`: the page's CSV downloads;
  `server`: uvicorn start-up; `schemas`: request and response models for `/docs`.
"""
