"""The chat page: conversation rules, the session's views, HTML rendering and the Gradio app."""
