"""The control plane: fault rules, the request journal and namespaces, applied where a request enters any face."""
