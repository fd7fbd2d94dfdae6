// Server-sent events for node:test files: the JSON messages of a fetch response's SSE stream.

// Reads SSE frames from a fetch response as they arrive.
export function sseFrames(res) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const queue = [];
  return {
    async next(ms = 5000) {
      const deadline = Date.now() + ms;
      while (queue.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no frame in time');
        const chunk = await Promise.race([
          reader.read(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('no frame in time')), left)),
        ]);
        if (chunk.done) throw new Error('stream ended');
        buffer += decoder.decode(chunk.value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('\n');
          if (data) queue.push(JSON.parse(data));
        }
      }
      return queue.shift();
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}
