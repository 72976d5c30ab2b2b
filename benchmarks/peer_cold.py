"""The peer's cold query, as a user of LangChain would write it: load the
embeddings and the saved FAISS store, run one similarity_search, print it.

    python benchmarks/peer_cold.py STORE_DIR MODEL_DIR "question"
"""

import sys

from langchain_community.vectorstores import FAISS
from langchain_huggingface import HuggingFaceEmbeddings

store_dir, model_dir, question = sys.argv[1:4]
embeddings = HuggingFaceEmbeddings(
    model_name=model_dir, model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True}
)
store = FAISS.load_local(store_dir, embeddings, allow_dangerous_deserialization=True)
for doc in store.similarity_search(question, k=5):
    print(doc.metadata.get("doc_id"), doc.page_content[:80].replace("\n", " "))
