project = 'nova-glance-multistore'
copyright = 'nova-glance-multistore developers'
extensions = ['oslo_config.sphinxext']
master_doc = 'index'
exclude_patterns = []
html_theme = 'alabaster'
