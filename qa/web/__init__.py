"""The web front ends over `qa.Assistant`: the HTTP API (`api`), the OpenAI-compatible endpoint
(`openai_api`), the Gradio chat app (`ui`, its HTML in `ui_html`) and the server that mounts them
behind one access layer (`server`, `access`). Each is a thin adapter; nothing in `qa` imports this
package, so the core runs without the web stack.
"""
