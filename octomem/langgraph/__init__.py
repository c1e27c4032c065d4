"""octomem inside LangGraph and LangChain.

```python
from octomem.langgraph import OctomemStore, create_manage_memory_tool, create_search_memory_tool
```

- `OctomemStore`: a LangGraph `BaseStore` (``graph.compile(store=OctomemStore(orch))``);
  `RankedItem`: a result of its ``ranking="hybrid"`` search;
- `create_search_memory_tool`, `create_manage_memory_tool`: LangChain tools for an agent;
- `create_recall_node`, `create_process_node`: nodes that inject recall into the prompt
  and hand each finished turn to `process()`.
"""

from octomem.langgraph.store import NamespaceScope, OctomemStore, RankedItem
from octomem.langgraph.tools import (
    create_manage_memory_tool,
    create_process_node,
    create_recall_node,
    create_search_memory_tool,
    format_memories,
)

__all__ = [
    "NamespaceScope",
    "OctomemStore",
    "RankedItem",
    "create_manage_memory_tool",
    "create_process_node",
    "create_recall_node",
    "create_search_memory_tool",
    "format_memories",
]
