"""The bundled demo catalog of 示例市 (a fictional city): one YAML file per department."""
