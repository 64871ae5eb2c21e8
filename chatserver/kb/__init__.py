"""The knowledge base: FAQ articles per site and language, their sanitised rendering, the
invitation rules, and search (BM25 over segmented text). Plain Python: no Redis, no sockets;
`store/articles.py` keeps the data and `web/articles_api.py` is the REST edge."""
