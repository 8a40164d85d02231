export const chatPage = '<!doctype html><title>chat</title>';
